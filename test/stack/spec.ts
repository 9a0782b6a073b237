/**
 * Validates a CloudFormation template against the CloudFormation resource specification shipped in
 * @aws-cdk/aws-service-spec: resource types, property names (recursively through property types), required
 * properties, primitive types and allowed values, and the targets of Ref / Fn::GetAtt / Fn::Sub / DependsOn.
 * Values that are intrinsic functions are accepted where any value is (their result is only known at deploy time).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { CfnTemplate } from '#local/stack/package';

type Db = ReturnType<typeof loadAwsServiceSpecSync>;
interface PropertySpec {
  required?: boolean;
  type: TypeSpec;
}
type TypeSpec =
  | { type: 'string'; allowedValues?: string[] }
  | { type: 'integer'; allowedValues?: number[] }
  | { type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: TypeSpec }
  | { type: 'union'; types: TypeSpec[] };

let db: Db | undefined;
function spec(): Db {
  // Loading the 30 MB database takes ~1 s: once per process.
  db ??= loadAwsServiceSpecSync();
  return db;
}

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIntrinsic(v: unknown): boolean {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::') === true || keys[0] === 'Condition');
}

function checkValue(value: unknown, type: TypeSpec, path: string, errors: string[]): void {
  if (isIntrinsic(value)) return;
  switch (type.type) {
    case 'string':
      if (!['string', 'number', 'boolean'].includes(typeof value)) errors.push(`${path}: expected a string`);
      else if (type.allowedValues && typeof value === 'string' && !type.allowedValues.includes(value)) {
        errors.push(`${path}: "${value}" is not one of ${type.allowedValues.join(', ')}`);
      }
      return;
    case 'integer':
    case 'number':
      if (
        !(
          typeof value === 'number' ||
          (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        )
      ) {
        errors.push(`${path}: expected a number`);
      }
      return;
    case 'boolean':
      if (!(typeof value === 'boolean' || value === 'true' || value === 'false'))
        errors.push(`${path}: expected a boolean`);
      return;
    case 'json':
      if (!isObject(value) && !Array.isArray(value) && typeof value !== 'string') errors.push(`${path}: expected JSON`);
      return;
    case 'date-time':
      if (typeof value !== 'string') errors.push(`${path}: expected a date-time string`);
      return;
    case 'null':
      if (value !== null) errors.push(`${path}: expected null`);
      return;
    case 'tag':
      if (!isObject(value) || !('Key' in value) || !('Value' in value)) errors.push(`${path}: expected {Key, Value}`);
      return;
    case 'array':
      if (!Array.isArray(value)) errors.push(`${path}: expected a list`);
      else
        value.forEach((v, i) => {
          checkValue(v, type.element, `${path}[${i}]`, errors);
        });
      return;
    case 'map':
      if (!isObject(value)) errors.push(`${path}: expected a map`);
      else for (const [k, v] of Object.entries(value)) checkValue(v, type.element, `${path}.${k}`, errors);
      return;
    case 'union': {
      const fits = type.types.some((t) => {
        const trial: string[] = [];
        checkValue(value, t, path, trial);
        return trial.length === 0;
      });
      if (!fits) errors.push(`${path}: matches none of ${type.types.map((t) => t.type).join(' | ')}`);
      return;
    }
    case 'ref': {
      const definition = spec().get('typeDefinition', type.reference.$ref) as unknown as {
        name: string;
        properties: Record<string, PropertySpec>;
      };
      if (!isObject(value)) errors.push(`${path}: expected a ${definition.name} object`);
      else checkProperties(value, definition.properties, path, errors);
      return;
    }
  }
}

function checkProperties(
  values: Record<string, unknown>,
  properties: Record<string, PropertySpec>,
  path: string,
  errors: string[],
): void {
  for (const [name, value] of Object.entries(values)) {
    const property = properties[name];
    if (!property) errors.push(`${path}.${name}: unknown property`);
    else checkValue(value, property.type, `${path}.${name}`, errors);
  }
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && !(name in values)) errors.push(`${path}.${name}: required property missing`);
  }
}

function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) for (const v of value) walk(v, visit);
  else if (isObject(value)) {
    visit(value);
    for (const v of Object.values(value)) walk(v, visit);
  }
}

/** All problems found in `template` (empty when it is valid). */
export function validateTemplate(template: CfnTemplate): string[] {
  const errors: string[] = [];
  const resources = template.Resources ?? {};
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const attributesOf = new Map<string, Set<string>>();

  for (const [logicalId, resource] of Object.entries(resources)) {
    const path = `Resources.${logicalId}`;
    const found = spec().lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    const definition = found[0] as unknown as
      | { properties: Record<string, PropertySpec>; attributes: Record<string, unknown> }
      | undefined;
    if (!definition) {
      errors.push(`${path}: unknown resource type ${resource.Type}`);
      continue;
    }
    attributesOf.set(logicalId, new Set(Object.keys(definition.attributes)));
    const props = resource.Properties ?? {};
    if (!isObject(props)) errors.push(`${path}.Properties: expected an object`);
    else checkProperties(props, definition.properties, `${path}.Properties`, errors);
    const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    for (const dep of dependsOn) if (!(dep in resources)) errors.push(`${path}.DependsOn: no resource ${dep}`);
    if (resource.Condition && !(resource.Condition in (template.Conditions ?? {}))) {
      errors.push(`${path}.Condition: no condition ${resource.Condition}`);
    }
  }

  const checkTarget = (name: string, attribute: string | undefined, where: string): void => {
    if (attribute === undefined && (PSEUDO.has(name) || parameters.has(name))) return;
    const attributes = attributesOf.get(name);
    if (!(name in resources)) errors.push(`${where}: reference to unknown resource ${name}`);
    else if (attribute !== undefined && attributes && !attributes.has(attribute)) {
      errors.push(`${where}: ${resources[name]?.Type} has no attribute ${attribute}`);
    }
  };
  walk({ Resources: resources, Outputs: template.Outputs }, (node) => {
    if (typeof node.Ref === 'string') checkTarget(node.Ref, undefined, `Ref ${node.Ref}`);
    const getAtt = node['Fn::GetAtt'];
    if (getAtt !== undefined) {
      const [name, attribute] = Array.isArray(getAtt) ? getAtt : String(getAtt).split(/\.(.*)/);
      checkTarget(String(name), String(attribute), `Fn::GetAtt ${name}.${attribute}`);
    }
    const sub = node['Fn::Sub'];
    const subText = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : undefined;
    const subVars = Array.isArray(sub) && isObject(sub[1]) ? new Set(Object.keys(sub[1])) : new Set<string>();
    if (typeof subText === 'string') {
      for (const [, variable] of subText.matchAll(/\$\{(?!!)([^}]+)\}/g)) {
        const [name, attribute] = (variable as string).split(/\.(.*)/);
        if (!subVars.has(name as string))
          checkTarget(name as string, attribute || undefined, `Fn::Sub \${${variable}}`);
      }
    }
  });
  return errors;
}
