//! The library half of the `karpenter` binary: manifest loading shared by `validate` and
//! `simulate`, and one module per subcommand. `main.rs` only parses arguments and dispatches.

pub mod cmd;
pub mod manifest;
pub mod simulate;
