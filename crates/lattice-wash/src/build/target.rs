//! `[component] wasm_target`: which kind of wasm a build produces and how that
//! maps onto each toolchain's target names.

use std::fmt;
use std::str::FromStr;

/// What the toolchain is asked to produce before `wash build` turns it into a
/// component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WasmTarget {
    /// A core module without WASI (`wasm32-unknown-unknown`), the upstream default.
    #[default]
    CoreModule,
    /// A WASI preview 1 core module, adapted into a component afterwards.
    WasiP1,
    /// A WASI 0.2 component, used as the toolchain writes it.
    WasiP2,
}

/// Every value `wasm_target` accepts, in the order error messages list them.
pub const ACCEPTED_TARGETS: [&str; 6] = [
    "wasm32-unknown-unknown",
    "wasm32-wasi",
    "wasm32-wasi-preview1",
    "wasm32-wasip1",
    "wasm32-wasi-preview2",
    "wasm32-wasip2",
];

/// `wasm_target` holds a value `wash build` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown wasm target `{0}`: use one of {list}", list = ACCEPTED_TARGETS.join(", "))]
pub struct UnknownTarget(pub String);

impl FromStr for WasmTarget {
    type Err = UnknownTarget;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wasm32-unknown-unknown" => Ok(WasmTarget::CoreModule),
            "wasm32-wasi" | "wasm32-wasi-preview1" | "wasm32-wasip1" => Ok(WasmTarget::WasiP1),
            "wasm32-wasi-preview2" | "wasm32-wasip2" => Ok(WasmTarget::WasiP2),
            // Upstream silently builds a core module for anything else; a typo
            // deserves an error instead.
            other => Err(UnknownTarget(other.to_string())),
        }
    }
}

impl WasmTarget {
    /// The rustc target triple cargo builds for.
    pub fn rust_triple(self) -> &'static str {
        match self {
            WasmTarget::CoreModule => "wasm32-unknown-unknown",
            WasmTarget::WasiP1 => "wasm32-wasip1",
            WasmTarget::WasiP2 => "wasm32-wasip2",
        }
    }

    /// The `-target` TinyGo builds for.
    pub fn tinygo_target(self) -> &'static str {
        match self {
            WasmTarget::CoreModule => "wasm-unknown",
            WasmTarget::WasiP1 => "wasip1",
            WasmTarget::WasiP2 => "wasip2",
        }
    }

    /// Whether the toolchain's output is already a component.
    pub fn is_component(self) -> bool {
        self == WasmTarget::WasiP2
    }
}

impl fmt::Display for WasmTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rust_triple())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_name_maps_to_a_target() {
        let mapped: Vec<_> = ACCEPTED_TARGETS
            .iter()
            .map(|name| (*name, name.parse::<WasmTarget>().unwrap()))
            .collect();
        assert_eq!(
            mapped,
            [
                ("wasm32-unknown-unknown", WasmTarget::CoreModule),
                ("wasm32-wasi", WasmTarget::WasiP1),
                ("wasm32-wasi-preview1", WasmTarget::WasiP1),
                ("wasm32-wasip1", WasmTarget::WasiP1),
                ("wasm32-wasi-preview2", WasmTarget::WasiP2),
                ("wasm32-wasip2", WasmTarget::WasiP2),
            ]
        );
    }

    #[test]
    fn toolchain_names() {
        assert_eq!(WasmTarget::WasiP1.rust_triple(), "wasm32-wasip1");
        assert_eq!(WasmTarget::WasiP2.tinygo_target(), "wasip2");
        assert_eq!(WasmTarget::CoreModule.tinygo_target(), "wasm-unknown");
        assert!(WasmTarget::WasiP2.is_component());
        assert!(!WasmTarget::WasiP1.is_component());
    }

    #[test]
    fn unknown_targets_list_the_accepted_ones() {
        let err = "wasm32-preview2".parse::<WasmTarget>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown wasm target `wasm32-preview2`: use one of wasm32-unknown-unknown, wasm32-wasi, \
             wasm32-wasi-preview1, wasm32-wasip1, wasm32-wasi-preview2, wasm32-wasip2"
        );
    }
}
