// The development config (the repository's config.yaml), embedded in the binary so that a
// machine without the source tree can still get a working starting point.
import sample from "../../config.yaml" with { type: "text" };

export function sampleConfig(): void {
  process.stdout.write(sample as unknown as string);
}
