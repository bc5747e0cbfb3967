//! Classical bone segmentation (being written).
