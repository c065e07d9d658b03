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
