//! The phone app built into the relay. `server/build.rs` embeds every file of
//! `web/dist` (the committed output of `npm run build`) when the relay is
//! compiled, so an installed relay serves the app without Node on the server
//! and without reading the source tree it was built from.
//!
//! Only the embedded paths exist: any other request, `..` included, is simply
//! not found, so nothing outside the app can be reached this way.

include!(concat!(env!("OUT_DIR"), "/app_files.rs"));

/// The embedded file at `rel`, a path under `/app/` such as `index.html`.
pub fn file(rel: &str) -> Option<&'static [u8]> {
    FILES
        .binary_search_by(|(path, _)| (*path).cmp(rel))
        .ok()
        .map(|i| FILES[i].1)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every file of the committed web/dist, as (path under it, contents).
    fn committed() -> Vec<(String, Vec<u8>)> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let rel = format!("{prefix}{}", entry.file_name().to_str().unwrap());
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), &format!("{rel}/"), out);
                } else {
                    out.push((rel, std::fs::read(entry.path()).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist"),
            "",
            &mut out,
        );
        out.sort();
        out
    }

    #[test]
    fn the_embedded_app_is_the_committed_web_dist() {
        let index =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist/index.html"))
                .unwrap();
        assert_eq!(file("index.html"), Some(&index[..]));
        let embedded: Vec<(String, Vec<u8>)> = FILES
            .iter()
            .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
            .collect();
        let names =
            |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        let committed = committed();
        assert_eq!(names(&embedded), names(&committed));
        assert!(
            embedded == committed,
            "an embedded file differs from web/dist"
        );
    }

    #[test]
    fn only_the_embedded_paths_exist() {
        assert!(file("sw.js").is_some());
        for missing in [
            "",
            "/index.html",
            "./index.html",
            "../web/dist/index.html",
            "assets",
            "assets/",
        ] {
            assert_eq!(file(missing), None, "{missing:?}");
        }
    }
}
