//! Guest components compiled from `guests/` by the build script.
