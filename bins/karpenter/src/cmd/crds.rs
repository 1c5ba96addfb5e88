//! `karpenter crds`: print (or write) the CustomResourceDefinitions generated from the API types.

use clap::Args as ClapArgs;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `karpenter crds`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Write each CRD to DIR/<group>_<plural>.yaml (as in charts/karpenter/crds/) instead of
    /// printing them all to standard output.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// Runs `karpenter crds`: exit 0, or 1 when output cannot be written.
pub fn run(args: Args) -> ExitCode {
    match write(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("karpenter crds: {e}");
            ExitCode::from(1)
        }
    }
}

fn write(args: &Args) -> Result<(), String> {
    match &args.output_dir {
        None => {
            let yaml = karpenter_api::crd::all_yaml().map_err(|e| e.to_string())?;
            std::io::stdout()
                .lock()
                .write_all(yaml.as_bytes())
                .map_err(|e| format!("writing standard output: {e}"))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for crd in karpenter_api::crd::crds() {
                let path = dir.join(karpenter_api::crd::file_name(&crd));
                let yaml = karpenter_api::crd::to_yaml(&crd).map_err(|e| e.to_string())?;
                std::fs::write(&path, format!("---\n{yaml}"))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "wrote CRD");
            }
            Ok(())
        }
    }
}
