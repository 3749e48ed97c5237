// Kita's xss-scan prints its findings but exits 0; fail the build on any.
const scan = Bun.spawnSync(["xss-scan"], { stdout: "pipe", stderr: "pipe" });
const output = scan.stdout.toString() + scan.stderr.toString();
process.stdout.write(output);
if (scan.exitCode !== 0 || /\b(error|warning) TS/.test(output)) {
  console.error("xss-scan found problems");
  process.exit(1);
}
