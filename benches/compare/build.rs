// Records which cargo profile built the harness, for its report.
fn main() {
    let profile = std::env::var("PROFILE").unwrap_or_default();
    // PROFILE is "release" for every non-debug profile; the output path
    // names the custom profile.
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    let name = if out.contains("/plain/") {
        "plain (cargo's default release: no LTO, 16 codegen units)"
    } else if profile == "release" {
        "release (lto = \"thin\", codegen-units = 1)"
    } else {
        "debug"
    };
    println!("cargo:rustc-env=SSEWIRE_COMPARE_PROFILE={name}");
}
