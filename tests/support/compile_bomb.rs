//! Compile bombs for the sandbox's hostile-input tests: components that are small on disk
//! and expensive to compile (Cranelift holds a whole function while compiling it, so one huge
//! function costs mostly memory; many mid-sized ones cost mostly time). Shared by
//! `node/allora-sandbox/tests/runtime_hardening.rs` and `tests/e2e_adapter_load.rs`.

#![allow(dead_code)] // each test binary uses part of it

use wasm_encoder::{
    CodeSection, Component, ComponentExportKind, ComponentExportSection, ComponentInstanceSection,
    Function, FunctionSection, InstanceSection, Instruction, Module, ModuleArg, ModuleSection,
    TypeSection, ValType,
};

/// A core module of `funcs` functions, each `ops` × (`local.get 0; i32.const 1; i32.add;
/// local.set 0`) over one i32 local.
pub fn core_module(funcs: usize, ops: usize) -> Module {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut body = Function::new([(1, ValType::I32)]);
    for _ in 0..ops {
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::I32Const(1))
            .instruction(&Instruction::I32Add)
            .instruction(&Instruction::LocalSet(0));
    }
    body.instruction(&Instruction::End);
    for _ in 0..funcs {
        functions.function(0);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    module
}

/// The module wrapped in a component that exports nothing: the compiler still compiles it.
pub fn bare_component(funcs: usize, ops: usize) -> Vec<u8> {
    let mut component = Component::new();
    component.section(&ModuleSection(&core_module(funcs, ops)));
    component.finish()
}

/// The module wrapped in a component that instantiates it and exports an (empty) instance
/// under the inference interface's name: `config validate`/`run` read the export section
/// without compiling and refuse a component that does not claim its role, so a bomb must
/// claim it to reach the compiler.
pub fn component_claiming_inference(funcs: usize, ops: usize) -> Vec<u8> {
    let mut component = Component::new();
    component.section(&ModuleSection(&core_module(funcs, ops)));
    let mut core_instances = InstanceSection::new();
    core_instances.instantiate(0, std::iter::empty::<(&str, ModuleArg)>());
    component.section(&core_instances);
    let mut instances = ComponentInstanceSection::new();
    instances.export_items(std::iter::empty::<(&str, ComponentExportKind, u32)>());
    component.section(&instances);
    let mut exports = ComponentExportSection::new();
    exports.export(
        "allora:adapter/inference@0.1.0",
        ComponentExportKind::Instance,
        0,
        None,
    );
    component.section(&exports);
    component.finish()
}
