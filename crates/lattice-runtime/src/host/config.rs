//! `wasi:config/store@0.2.0-draft`: read-only values from the named config
//! maps attached to a component, merged in order (later maps win), as the
//! wasmCloud v1 host serves them.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use super::bindings::wasi::config::store;
use crate::imports::Served;

/// What this built-in serves.
pub(crate) const SERVED: Served = Served {
    package: "wasi:config",
    interfaces: &["store"],
    version: "0.2.0-draft",
};

/// Merged configuration values of one component.
pub type ConfigValues = Arc<BTreeMap<String, String>>;

/// Merges named config maps in order: a key in a later map replaces the same
/// key from an earlier one, as in wasmCloud v1.
pub fn merge<I, M, K, V>(maps: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = M>,
    M: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let mut merged = BTreeMap::new();
    for map in maps {
        merged.extend(map.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
    merged
}

/// What `wasi:config/store` needs from the store data.
#[derive(Debug)]
pub struct WasiConfigCtxView<'a> {
    /// The component's merged values, fixed for the life of the store.
    pub values: &'a ConfigValues,
}

/// Projects [`WasiConfigCtxView`] out of the store data `T`.
pub trait WasiConfigView: Send {
    /// The view for this store.
    fn config(&mut self) -> WasiConfigCtxView<'_>;
}

struct WasiConfig;

impl HasData for WasiConfig {
    type Data<'a> = WasiConfigCtxView<'a>;
}

impl store::Host for WasiConfigCtxView<'_> {
    fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        Ok(self.values.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        Ok(self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// Adds `wasi:config/store@0.2.0-draft` to `linker`.
///
/// # Errors
///
/// When the linker already defines the interface.
pub fn add_to_linker<T: WasiConfigView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    store::add_to_linker::<T, WasiConfig>(linker, T::config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::Host as _;

    #[test]
    fn later_maps_win() {
        let merged = merge([vec![("a", "1"), ("b", "1")], vec![("b", "2"), ("c", "2")]]);
        assert_eq!(merged["a"], "1");
        assert_eq!(merged["b"], "2");
        assert_eq!(merged["c"], "2");
    }

    #[test]
    fn get_and_get_all_read_the_merged_values() {
        let values: ConfigValues = Arc::new(merge([[("k", "v")]]));
        let mut view = WasiConfigCtxView { values: &values };
        assert_eq!(view.get("k".into()).unwrap().as_deref(), Some("v"));
        assert_eq!(view.get("missing".into()).unwrap(), None);
        assert_eq!(view.get_all().unwrap(), [("k".to_string(), "v".to_string())]);
    }
}
