//! `coxa rom`: the range of motion of a hip ([`crate::rom`]) or of a scenario's cases, printed.

/// Runs `coxa rom`.
pub fn cli(args: &crate::rom::RomArgs) -> anyhow::Result<()> {
    if let Some(scenario) = &args.scenario {
        return super::run::cli(&super::run::RunArgs { scenario: scenario.clone(), out: None, quiet: false, yes: false, shard: None, cases_file: None, merge: false });
    }
    let report = crate::rom::run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("oscillation angle  {:.1} deg", report["oscillation_angle_deg"].as_f64().unwrap_or(f64::NAN));
    println!("{:34} {:>9}  first contact", "motion", "limit deg");
    for m in report["motions"].as_array().into_iter().flatten() {
        let limit = m["limit_deg"].as_f64().map_or("-".to_string(), |v| format!("{v:.1}"));
        let contact = match m["contact"].as_str() {
            Some("none") => "none within the sweep".to_string(),
            Some(c) => c.to_string(),
            None => "-".to_string(),
        };
        println!("{:34} {:>9}  {contact}", m["name"].as_str().unwrap_or("?"), limit);
    }
    Ok(())
}
