//! Host-side bindings generated from `wit/` for the imports the node provides
//! (`allora:adapter/http`, `allora:adapter/log`). Exports are looked up per role at load time
//! (see `exports.rs`) because a component exports only the roles it implements.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "allora:adapter/host",
    imports: { default: async | trappable },
});
