//! (area module; being written)
