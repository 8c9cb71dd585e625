//! Placeholder: filled in by its own issue.

crate::define_error! {
    /// Errors of this area.
    Error, Code {
        /// Not built yet.
        Unimplemented => ("bmp.unimplemented", None),
    }
}
