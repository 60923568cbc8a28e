//! The harness must not rot: `--quick` runs every figure at tiny sizes in a
//! few seconds. Nothing here checks a timing; CI never fails on speed.

#[test]
fn quick_mode_produces_every_figure() {
    let out = interlog_bench::run(&interlog_bench::Config::quick(), &|_| {})
        .expect("the quick benchmark runs");
    for figure in ["1", "2", "3", "4", "5", "6"] {
        assert!(
            out.rows.iter().any(|r| r.figure == figure),
            "figure {figure} is missing from:\n{}",
            interlog_bench::table::render(&out.rows)
        );
    }
    for r in &out.rows {
        assert!(!r.value.is_empty(), "{r:?} has no value");
    }
}
