//! Surfaces from masks (being written).
