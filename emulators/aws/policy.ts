/**
 * A small evaluator of AWS IoT policies (docs/clouds/aws-iot-core.md#endpoints-and-authentication): the
 * actions a device connection
 * uses, ARNs with `*`/`?` wildcards, thing policy variables, explicit deny over allow, default deny. In
 * IoT policies MQTT's `+` and `#` are plain characters, not wildcards, so they only match themselves.
 */

export type IotAction = 'iot:Connect' | 'iot:Publish' | 'iot:Subscribe' | 'iot:Receive';

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** Who is asking: the substitution values of `${iot:…}` policy variables. */
export interface PolicySubject {
  clientId: string;
  /** Set only when the client id is the name of a thing attached to the certificate. */
  thingName?: string;
}

export const EMULATOR_REGION = 'local-1';
export const EMULATOR_ACCOUNT = '000000000000';

const ARN_PREFIX = `arn:aws:iot:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:`;

/** The resource ARN of an action on a client id, topic or topic filter. */
export function resourceArn(action: IotAction, name: string): string {
  switch (action) {
    case 'iot:Connect':
      return `${ARN_PREFIX}client/${name}`;
    case 'iot:Publish':
    case 'iot:Receive':
      return `${ARN_PREFIX}topic/${name}`;
    case 'iot:Subscribe':
      return `${ARN_PREFIX}topicfilter/${name}`;
  }
}

const VARIABLE = /\$\{([^}]+)\}/g;

/**
 * Substitute policy variables. An unresolvable variable (ThingName when no thing is attached under the
 * client id) leaves the resource unable to match anything, as in IoT Core.
 */
function substitute(pattern: string, subject: PolicySubject): string | undefined {
  let isResolved = true;
  const result = pattern.replace(VARIABLE, (_whole, name: string) => {
    const value =
      name === 'iot:ClientId'
        ? subject.clientId
        : name === 'iot:Connection.Thing.ThingName'
          ? subject.thingName
          : undefined;
    if (value === undefined) isResolved = false;
    return value ?? '';
  });
  return isResolved ? result : undefined;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\#/]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function list(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function statementMatches(
  statement: PolicyStatement,
  action: IotAction,
  arn: string,
  subject: PolicySubject,
): boolean {
  const actionMatches = list(statement.Action).some((a) => globToRegExp(a).test(action));
  if (!actionMatches) return false;
  return list(statement.Resource).some((pattern) => {
    const resolved = substitute(pattern, subject);
    return resolved !== undefined && globToRegExp(resolved).test(arn);
  });
}

/** True when the policies allow `action` on `name` (client id, topic or filter) for `subject`. */
export function isAllowed(
  policies: readonly PolicyDocument[],
  action: IotAction,
  name: string,
  subject: PolicySubject,
): boolean {
  const arn = resourceArn(action, name);
  const statements = policies.flatMap((p) => p.Statement);
  if (statements.some((s) => s.Effect === 'Deny' && statementMatches(s, action, arn, subject))) return false;
  return statements.some((s) => s.Effect === 'Allow' && statementMatches(s, action, arn, subject));
}

/**
 * The policy the emulator attaches to certificates it mints for a gateway thing: connect as the thing,
 * publish telemetry and command responses under its name, receive its commands, use its shadows and jobs,
 * and publish to Basic Ingest rules. By default the thing is the `${iot:Connection.Thing.ThingName}`
 * variable; HTTPS publish has no client id, so that variable never resolves there — pass the literal name
 * for a policy that also allows HTTPS.
 */
export function gatewayThingPolicy(thing = '${iot:Connection.Thing.ThingName}'): PolicyDocument {
  const topic = (t: string): string => `arn:aws:iot:*:*:topic/${t}`;
  const filter = (t: string): string => `arn:aws:iot:*:*:topicfilter/${t}`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: `arn:aws:iot:*:*:client/${thing}` },
      {
        Effect: 'Allow',
        Action: 'iot:Publish',
        Resource: [
          topic(`dt/*/${thing}`),
          topic(`dt/*/${thing}/*`),
          topic(`cmd/*/${thing}/*/res`),
          topic(`$aws/things/${thing}/*`),
          topic('$aws/rules/*'),
        ],
      },
      {
        Effect: 'Allow',
        Action: 'iot:Receive',
        Resource: [topic(`cmd/*/${thing}/*/req`), topic(`$aws/things/${thing}/*`)],
      },
      {
        Effect: 'Allow',
        Action: 'iot:Subscribe',
        Resource: [filter(`cmd/*/${thing}/+/req`), filter(`$aws/things/${thing}/*`)],
      },
    ],
  };
}

/**
 * Statements that let a gateway use the classic shadows of its leaf things (`shadows.mode: classic`):
 * publish requests and receive responses on `$aws/things/{leaf}/shadow/…` for each name or `*` pattern in
 * `leaves`, and subscribe to the one-level wildcard filters `$aws/things/+/shadow/…` the gateway uses.
 * The `+` is literal in a policy, so the filter is allowed as written; iot:Receive still limits delivery to
 * the listed leaves. Add them to the gateway's policy, e.g. `{ Statement: [...gateway, ...leaves] }`.
 */
export function leafShadowStatements(leaves: readonly string[]): PolicyStatement[] {
  const topics = leaves.map((leaf) => `arn:aws:iot:*:*:topic/$aws/things/${leaf}/shadow/*`);
  return [
    { Effect: 'Allow', Action: ['iot:Publish', 'iot:Receive'], Resource: topics },
    {
      Effect: 'Allow',
      Action: 'iot:Subscribe',
      Resource: 'arn:aws:iot:*:*:topicfilter/$aws/things/+/shadow/*',
    },
  ];
}
