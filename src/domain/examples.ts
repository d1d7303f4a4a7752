/**
 * The payload Svix's send-example sends for an event type: the first of `examples` in its newest
 * schema version (JSON Schema's `examples` keyword), or `{}` when no version has one that is a
 * JSON object (message payloads are objects).
 */
export const DEFAULT_EXAMPLE: Record<string, unknown> = {};

export function examplePayload(schemas: Record<string, unknown> | null): Record<string, unknown> {
  if (!schemas) return DEFAULT_EXAMPLE;
  // Versions are numbered ("1", "2", …): the newest first, names that are not numbers last.
  const versions = Object.keys(schemas).sort((a, b) => (Number(b) || 0) - (Number(a) || 0));
  for (const version of versions) {
    const examples = (schemas[version] as { examples?: unknown } | null)?.examples;
    const first = Array.isArray(examples) ? examples[0] : undefined;
    if (isObject(first)) return first;
  }
  return DEFAULT_EXAMPLE;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
