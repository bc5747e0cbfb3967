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
        let contact = if m["start_in_contact"].as_bool() == Some(true) { format!("in contact at the start posture ({contact})") } else { contact };
        println!("{:34} {:>9}  {contact}", m["name"].as_str().unwrap_or("?"), limit);
    }
    let motions = report["motions"].as_array().map_or(0, Vec::len);
    let at_start = report["motions"].as_array().into_iter().flatten().filter(|m| m["start_in_contact"].as_bool() == Some(true)).count();
    if at_start > 0 {
        println!(
            "warning    {at_start} of {motions} motions start in contact: the implants (or bones) already touch in the start posture, so their limit is the start angle, not a range of motion; check the cup and stem angles"
        );
    }
    Ok(())
}
