import { FieldgateError } from '../../errors.js';

/** Topic templates from config; `{gateway}` and `{route}` are the placeholders they may use. */
export interface TopicTemplates {
  telemetry: string;
  commands: string;
  results: string;
}

/** Concrete topics for one gateway and route. */
export interface Topics {
  telemetry: string;
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
  return {
    telemetry: expandTopic(templates.telemetry, vars),
    commands,
    commandsFilter: `${commands}/#`,
    results: expandTopic(templates.results, vars),
  };
}
