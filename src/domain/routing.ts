/** Which endpoints a message fans out to: the Svix filter semantics, as a pure function. */
export interface EndpointFilter {
  disabled: boolean;
  /** null: every event type. */
  eventTypes: readonly string[] | null;
  /** null: every message; otherwise only messages sharing at least one channel. */
  channels: readonly string[] | null;
}

export function endpointWants(
  endpoint: EndpointFilter,
  eventType: string,
  channels: readonly string[] | null,
): boolean {
  if (endpoint.disabled) return false;
  if (endpoint.eventTypes && !endpoint.eventTypes.includes(eventType)) return false;
  if (endpoint.channels) {
    if (!channels) return false;
    return endpoint.channels.some((c) => channels.includes(c));
  }
  return true;
}
