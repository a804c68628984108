//! Writes the demo catalog and one rendered ticket to a folder, to look at them.
//!
//! `cargo run -p cloudhp-worker --example ticket -- OUT_DIR [ID]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: ticket OUT_DIR [ID]")?);
    let id = args.next().unwrap_or_else(|| "42".to_owned());
    let catalog = cloudhp_worker::Catalog::demo();
    catalog.write_dir(&out)?;
    let prize = catalog.pick().ok_or("empty catalog")?;
    let jpeg = cloudhp_worker::render_ticket(&prize.image, &id)?;
    std::fs::write(out.join(format!("ticket-{id}.jpg")), jpeg)?;
    println!(
        "wrote {} prizes and ticket-{id}.jpg ({}) to {}",
        catalog.len(),
        prize.file,
        out.display()
    );
    Ok(())
}
