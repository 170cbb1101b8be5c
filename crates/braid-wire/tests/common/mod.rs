//! Shared helpers for tests reading ../shared/data (see its README).
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file under the shared test data folder, beside the project root.
pub(crate) fn shared_data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel)
}
