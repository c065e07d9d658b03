//! The README's Rust snippets are cut from the examples, which CI builds: each snippet,
//! split at `// ...` lines, must appear line for line (indentation aside) in one of
//! `examples/**/*.rs`, so a snippet cannot drift from code that compiles.

use std::path::Path;

/// Lines without their indentation, blank lines left out.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
}

/// The ```rust blocks of a markdown text, with the line each starts on.
fn rust_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```rust") => {
                current = Some((number + 1, String::new()));
            }
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "a ```rust block is never closed");
    blocks
}

fn contains_run(haystack: &[&str], needle: &[&str]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[test]
fn every_readme_snippet_is_in_an_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut examples = Vec::new();
    let mut dirs = vec![root.join("examples")];
    // An example of several files lives in a folder of its own (`examples/tonic/`).
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("an examples folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("an example");
                examples.push((path, text));
            }
        }
    }
    let blocks = rust_blocks(&readme);
    assert!(!blocks.is_empty(), "the README has Rust snippets");
    for (line, block) in &blocks {
        let block_lines = lines(block);
        for segment in block_lines.split(|line| *line == "// ...") {
            let found = examples
                .iter()
                .any(|(_, text)| contains_run(&lines(text), segment));
            assert!(
                found,
                "README.md line {line}: this part of a snippet is in no example:\n{}",
                segment.join("\n")
            );
        }
    }
}

#[test]
fn the_check_finds_a_snippet_that_drifted() {
    let example = "fn main() {\n    let a = 1;\n    let b = 2;\n}\n";
    assert!(contains_run(&lines(example), &["let a = 1;", "let b = 2;"]));
    assert!(!contains_run(
        &lines(example),
        &["let a = 1;", "let b = 3;"]
    ));
    let blocks = rust_blocks("text\n```rust\nlet a = 1;\n```\n```sh\nls\n```\n");
    assert_eq!(blocks, [(2, "let a = 1;\n".to_owned())]);
}
