//! `wash inspect` and `wash claims inspect`: describe a wasm file, its
//! claims, and with `--wit` the world it imports and exports.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lattice_wash::inspect::WasmKind;
use serde_json::json;

use super::{Output, output};

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The wasm file to inspect.
    file: PathBuf,
    /// Print only the raw embedded JWT.
    #[arg(long, conflicts_with = "wit")]
    jwt_only: bool,
    /// Print the component's WIT world (imports and exports) instead of its claims.
    #[arg(long)]
    wit: bool,
}

pub(crate) fn run(args: &InspectArgs) -> anyhow::Result<Output> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let context = || format!("cannot inspect {}", args.file.display());
    if args.wit {
        return wit(&bytes).with_context(context);
    }
    let inspection = lattice_wash::inspect::inspect(&bytes).with_context(context)?;
    let kind = inspection.kind.describe();
    let Some(token) = inspection.token else {
        if args.jwt_only {
            anyhow::bail!(
                "{} is not signed: it has no embedded claims; sign it with `wash claims sign`",
                args.file.display()
            );
        }
        let text = format!(
            "{}: unsigned {kind}, {} bytes\n  no claims embedded; sign it with `wash claims sign {}`\n",
            args.file.display(),
            inspection.size,
            args.file.display()
        );
        return Ok(Output::new(
            text,
            json!({ "kind": inspection.kind, "size": inspection.size, "signed": false }),
        ));
    };
    if args.jwt_only {
        return Ok(Output::new(token.jwt.clone(), json!({ "token": token.jwt })));
    }

    let validation =
        lattice_claims::jwt::validate_token::<lattice_claims::jwt::Component>(&token.jwt).with_context(context)?;
    let claims = &token.claims;
    let meta = claims.metadata.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_else(|| "(unnamed)".to_string());
    let version = match (&meta.ver, meta.rev) {
        (Some(ver), Some(rev)) => format!("{ver} (rev {rev})"),
        (Some(ver), None) => ver.clone(),
        (None, Some(rev)) => format!("(rev {rev})"),
        (None, None) => "(none)".to_string(),
    };
    let tags = meta
        .tags
        .clone()
        .filter(|t| !t.is_empty())
        .map_or_else(|| "(none)".to_string(), |t| t.join(", "));
    let mut text = format!("{name} - signed {kind}\n");
    text.push_str(&output::rows(&[
        ("Account", claims.issuer.clone()),
        ("Component", claims.subject.clone()),
        ("Expires", validation.expires_human.clone()),
        ("Can Be Used", validation.not_before_human.clone()),
        ("Version", version),
        (
            "Call Alias",
            meta.call_alias.clone().unwrap_or_else(|| "(none)".to_string()),
        ),
        ("Tags", tags),
        ("Hash", meta.module_hash.clone()),
    ]));
    let json = json!({
        "name": meta.name,
        "kind": inspection.kind,
        "signed": true,
        "account": claims.issuer,
        "component": claims.subject,
        "hash": meta.module_hash,
        "issued_at": claims.issued_at,
        "expires": claims.expires,
        "expires_human": validation.expires_human,
        "not_before": claims.not_before,
        "not_before_human": validation.not_before_human,
        "version": meta.ver,
        "revision": meta.rev,
        "call_alias": meta.call_alias,
        "tags": meta.tags.unwrap_or_default(),
        "wascap_revision": claims.wascap_revision,
    });
    Ok(Output::new(text, json))
}

fn wit(bytes: &[u8]) -> anyhow::Result<Output> {
    match lattice_wash::inspect::check_structure(bytes)? {
        WasmKind::Component => {
            let world = lattice_wash::inspect::component_wit(bytes)?;
            Ok(Output::new(world.wit.clone(), serde_json::to_value(&world)?))
        }
        WasmKind::Module => {
            let interface = lattice_wash::inspect::module_interface(bytes)?;
            let mut text = String::from(
                "core module: it has no WIT world (build for wasm32-wasip2, or let `wash build` adapt it into a component)\n",
            );
            for (title, items) in [("imports", &interface.imports), ("exports", &interface.exports)] {
                text.push_str(&format!("{title}:\n"));
                for item in items {
                    text.push_str(&format!("  {item}\n"));
                }
            }
            Ok(Output::new(
                text,
                json!({ "kind": WasmKind::Module, "imports": interface.imports, "exports": interface.exports }),
            ))
        }
    }
}
