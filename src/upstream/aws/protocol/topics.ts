import { FieldgateError } from '../../../errors.js';

/**
 * IoT Core topic rules (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits): at most 256 bytes and 7 slashes,
 * where a Basic Ingest
 * prefix `$aws/rules/<rule>/` does not count.
 */
export const MAX_TOPIC_BYTES = 256;
export const MAX_TOPIC_SLASHES = 7;

const BASIC_INGEST = /^\$aws\/rules\/[^/]+\//;
const PLACEHOLDER = /\{([^}]*)\}/g;

/** The topic with a Basic Ingest prefix removed: what IoT Core's length and depth limits apply to. */
function countedPart(topic: string): string {
  return topic.replace(BASIC_INGEST, '');
}

/** Why a concrete topic breaks an IoT Core limit, or undefined when it is within them. */
export function topicLimitViolation(topic: string): string | undefined {
  const counted = countedPart(topic);
  const bytes = Buffer.byteLength(counted);
  if (bytes > MAX_TOPIC_BYTES) return `topic is ${bytes} bytes; IoT Core allows ${MAX_TOPIC_BYTES}`;
  const slashes = counted.split('/').length - 1;
  if (slashes > MAX_TOPIC_SLASHES) {
    return `topic has ${slashes} slashes; IoT Core allows ${MAX_TOPIC_SLASHES}`;
  }
  return undefined;
}

/** True when the topic is a Basic Ingest topic: it goes straight to a rule and is never fanned out. */
export function isBasicIngest(topic: string): boolean {
  return BASIC_INGEST.test(topic);
}

function fill(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new FieldgateError('FG_INTERNAL', `No value for ${whole} in "${template}".`);
    }
    return value;
  });
}

/**
 * A topic template with `{name}` placeholders, checked once when the upstream is built: unknown
 * placeholders and wildcards are configuration errors, found before the first reading.
 */
export class TopicTemplate {
  readonly template: string;

  constructor(template: string, known: readonly string[]) {
    for (const [whole, name] of template.matchAll(PLACEHOLDER)) {
      if (!known.includes(name!)) {
        throw new FieldgateError('FG_CONFIG_INVALID', `Topic template "${template}" uses unknown ${whole}.`, {
          context: { template, known },
        });
      }
    }
    if (/[+#]/.test(template)) {
      throw new FieldgateError('FG_CONFIG_INVALID', `Topic template "${template}" contains a wildcard.`, {
        context: { template },
      });
    }
    this.template = template;
  }

  /** True when the template varies per device. */
  get hasDevice(): boolean {
    return this.template.includes('{device}');
  }

  /** The concrete topic; a missing variable is a bug in the caller (FG_INTERNAL). */
  expand(vars: Readonly<Record<string, string>>): string {
    return fill(this.template, vars);
  }

  /**
   * The subscription filter: every placeholder in `wildcards` becomes `+`. Such a placeholder must fill a
   * whole topic level, or the filter would not be valid MQTT.
   */
  filter(vars: Readonly<Record<string, string>>, wildcards: readonly string[]): string {
    return this.template
      .split('/')
      .map((level) => {
        const name = /^\{([^}]*)\}$/.exec(level)?.[1];
        if (name !== undefined && wildcards.includes(name)) return '+';
        if (wildcards.some((w) => level.includes(`{${w}}`))) {
          throw new FieldgateError(
            'FG_CONFIG_INVALID',
            `In topic template "${this.template}", a placeholder in a filter must fill a whole level.`,
            { context: { template: this.template, wildcards } },
          );
        }
        return fill(level, vars);
      })
      .join('/');
  }

  /**
   * The value of placeholder `name` in a concrete `topic` that matches the template level by level
   * (the placeholder filling a whole level), or undefined when the topic does not match.
   */
  extract(topic: string, vars: Readonly<Record<string, string>>, name: string): string | undefined {
    const templateLevels = this.template.split('/');
    const topicLevels = topic.split('/');
    if (templateLevels.length !== topicLevels.length) return undefined;
    let found: string | undefined;
    for (const [i, level] of templateLevels.entries()) {
      const actual = topicLevels[i]!;
      if (level === `{${name}}`) {
        found = actual;
        continue;
      }
      if (this.#expandLevel(level, vars) !== actual) return undefined;
    }
    return found === undefined || found.length === 0 ? undefined : found;
  }

  #expandLevel(level: string, vars: Readonly<Record<string, string>>): string {
    return level.replace(PLACEHOLDER, (whole, name: string) => vars[name] ?? whole);
  }
}
