use super::*;

#[test]
fn links() {
    let endpoints = crate::endpoints::from_list("a:9084,b:9085").unwrap();
    assert_eq!(
        link(&endpoints, None),
        "http://a:9084/?endpoints=a:9084,b:9085"
    );
    assert_eq!(
        link(&endpoints, Some("http://ops:8080/")),
        "http://ops:8080/?endpoints=a:9084,b:9085"
    );
}
