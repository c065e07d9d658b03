use super::*;

#[test]
fn serves_every_path_it_lists() {
    let paths: Vec<_> = paths().collect();
    assert!(paths.contains(&""));
    assert!(paths.contains(&"app.js"));
    for path in paths {
        let asset = asset(path).unwrap();
        assert!(!asset.body.is_empty(), "{path:?} is empty");
        let expected = match path.rsplit_once('.').map(|(_, ext)| ext) {
            None => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some(other) => panic!("{path:?}: no content type for .{other}"),
        };
        assert_eq!(asset.content_type, expected, "{path:?}");
    }
    assert!(asset("index.html").is_none());
    assert!(asset("/app.js").is_none());
    assert!(asset("requests").is_none());
}

#[test]
fn the_page_loads_its_own_files_only() {
    let html = asset("").unwrap().body;
    assert!(html.contains(r#"src="app.js""#));
    assert!(html.contains(r#"href="app.css""#));
    for path in paths() {
        let text = asset(path).unwrap().body;
        assert!(
            !text.contains("https://"),
            "{path:?}: the page loads nothing from outside"
        );
        assert!(
            !text.contains("innerHTML"),
            "{path:?}: data goes in with textContent"
        );
    }
}

/// The modules a script imports (`from './x.js'`), by served path.
fn imports(source: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for quote in ['\'', '"'] {
        let opening = format!("from {quote}./");
        let mut rest = source;
        while let Some(at) = rest.find(&opening) {
            rest = &rest[at + opening.len()..];
            let end = rest.find(quote).expect("an import's path ends on its line");
            found.push(&rest[..end]);
        }
    }
    found
}

#[test]
fn every_imported_module_is_served() {
    let mut checked = 0;
    for path in paths().filter(|path| path.ends_with(".js")) {
        for module in imports(asset(path).unwrap().body) {
            assert!(
                asset(module).is_some(),
                "{path} imports {module:?}, which is not served"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "found no imports at all");
}

#[test]
fn every_served_module_is_part_of_the_page() {
    // The page loads app.js; it and the modules it imports, transitively, are the page.
    let mut reached = vec!["app.js"];
    let mut next = 0;
    while let Some(path) = reached.get(next).copied() {
        // A module that is not served fails `every_imported_module_is_served`.
        let Some(asset) = asset(path) else {
            next += 1;
            continue;
        };
        for module in imports(asset.body) {
            if !reached.contains(&module) {
                reached.push(module);
            }
        }
        next += 1;
    }
    for path in paths().filter(|path| path.ends_with(".js")) {
        assert!(reached.contains(&path), "nothing imports {path}");
    }
}
