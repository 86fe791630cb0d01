//! The configuration's reference, generated from the declarations in [`super::variables`]:
//! `.env.example`, the README's table and the list `server --print-config-keys` prints.
//!
//! The files in the repository are checked against what this generates (`config::tests`), and
//! rewritten by `FERRY_WRITE_CONFIG_REFERENCE=1 cargo test -p server --lib config`, so a
//! variable's documentation cannot drift from what the parser does.

use super::{
    variables::{Kind, Var, VARIABLES},
    vars::allowed,
};
use std::fmt::Write;

/// Marks the start of the generated table in the README.
pub const README_TABLE_START: &str =
    "<!-- configuration table: generated from server/src/config/variables.rs -->";
/// Marks its end.
pub const README_TABLE_END: &str = "<!-- end of the configuration table -->";

/// The variables the server process reads, for deployment files to be checked against.
pub fn server_keys() -> impl Iterator<Item = &'static str> {
    VARIABLES
        .iter()
        .filter(|var| var.read_by_server())
        .map(|var| var.name)
}

/// Every variable with its default, grouped by section, each under its doc and what it allows.
pub fn env_example() -> String {
    let mut out = String::from(
        "# Ferry's configuration, with the defaults it uses when a variable is unset.\n\
         # Every value is checked at start-up; a bad one stops the server with a message naming it.\n\
         # Generated from server/src/config/variables.rs: edit there, not here.\n",
    );
    for (index, var) in VARIABLES.iter().enumerate() {
        if index == 0 || VARIABLES[index - 1].section != var.section {
            let _ = writeln!(out, "\n# --- {} ---", var.section.title);
            for line in var.section.about {
                let _ = writeln!(out, "# {line}");
            }
        }
        for line in var.doc {
            let _ = writeln!(out, "#{line}");
        }
        if let Some(allowed) = allowed_note(var) {
            let _ = writeln!(out, "# Allowed: {allowed}.");
        }
        let _ = writeln!(out, "{}={}", var.name, var.default_value());
    }
    out
}

/// The README's table: one row per variable, under a row naming each section.
pub fn readme_table() -> String {
    let mut out = format!(
        "{README_TABLE_START}\n\n| Variable | Default | Allowed | What it does |\n|---|---|---|---|\n"
    );
    for (index, var) in VARIABLES.iter().enumerate() {
        if index == 0 || VARIABLES[index - 1].section != var.section {
            let _ = writeln!(out, "| **{}** | | | |", var.section.title);
        }
        let default = match var.default_value() {
            empty if empty.is_empty() => "unset".to_owned(),
            value => format!("`{value}`"),
        };
        let doc = var
            .doc
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "| `{}` | {default} | {} | {} |",
            var.name,
            cell(&allowed_note(var).unwrap_or_default()),
            cell(&doc)
        );
    }
    out.push('\n');
    out.push_str(README_TABLE_END);
    out
}

/// What a variable allows, when there is more to say than its doc does.
fn allowed_note(var: &Var) -> Option<String> {
    match var.kind {
        Kind::ReadBy { .. } => None,
        _ => Some(allowed(&var.kind)),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
