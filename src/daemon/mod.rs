//! The daemon: start-up, the actor system, signals, systemd notification and shutdown.

pub mod clock;
