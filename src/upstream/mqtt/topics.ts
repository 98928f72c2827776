import { FieldgateError } from '../../errors.js';
import type { Reading } from '../../model.js';

/**
 * Topic templates from config; `{gateway}` and `{route}` are the placeholders they may use, and the
 * telemetry template also `{device}` (the device id) and `{name}` (the device's name, else its id).
 */
export interface TopicTemplates {
  telemetry: string;
  commands: string;
  results: string;
}

/** Concrete topics for one gateway and route. */
export interface Topics {
  /** The telemetry topic; with `{device}` or `{name}` in the template, the template itself. */
  telemetry: string;
  /** The telemetry topic of one reading. */
  telemetryOf: (reading: Pick<Reading, 'device' | 'name'>) => string;
  /** True when readings of different devices go to different topics. */
  isTelemetryPerDevice: boolean;
  /** Commands for any device, named in the body. */
  commands: string;
  /**
   * The one filter for both command forms: `<commands>/#` matches `<commands>` itself as well as
   * `<commands>/<device id>` (MQTT 3.1.1 §4.7.1.2).
   */
  commandsFilter: string;
  results: string;
}

const PLACEHOLDER = /\{([^}]*)\}/g;

/**
 * Fill a template's placeholders. Throws `FG_CONFIG_INVALID` for an unknown placeholder, or when the
 * result is not a valid topic name for publishing (empty, or containing the `+`/`#` wildcards).
 */
export function expandTopic(template: string, vars: Readonly<Record<string, string>>): string {
  const topic = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new FieldgateError('FG_CONFIG_INVALID', `Topic template "${template}" uses unknown ${whole}.`, {
        context: { template, known: Object.keys(vars) },
      });
    }
    return value;
  });
  if (topic.length === 0 || /[+#]/.test(topic)) {
    throw new FieldgateError('FG_CONFIG_INVALID', `Topic "${topic}" is empty or contains a wildcard.`, {
      context: { template },
    });
  }
  return topic;
}

export function resolveTopics(templates: TopicTemplates, gatewayId: string, route: string): Topics {
  const vars = { gateway: gatewayId, route };
  const commands = expandTopic(templates.commands, vars);
  const isTelemetryPerDevice = /\{(device|name)\}/.test(templates.telemetry);
  // Checked once with stand-in values: an unknown placeholder is a config error at start, not per send.
  const telemetry = isTelemetryPerDevice
    ? (expandTopic(templates.telemetry, { ...vars, device: 'd', name: 'n' }), templates.telemetry)
    : expandTopic(templates.telemetry, vars);
  return {
    telemetry,
    telemetryOf: isTelemetryPerDevice
      ? (reading) =>
          expandTopic(templates.telemetry, {
            ...vars,
            device: reading.device,
            name: reading.name ?? reading.device,
          })
      : () => telemetry,
    isTelemetryPerDevice,
    commands,
    commandsFilter: `${commands}/#`,
    results: expandTopic(templates.results, vars),
  };
}
