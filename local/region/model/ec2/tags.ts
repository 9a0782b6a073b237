/** CreateTags and DeleteTags (instance tag changes emit EventBridge's Tag Change on Resource). */
import type { CreateTagsRequest, DeleteTagsRequest } from '@aws-sdk/client-ec2';
import { regionError } from '../errors';
import { type InstanceRec, validateTags } from './records';
import type { Ec2State } from './state';

function taggable(s: Ec2State, id: string): { tags: Map<string, string>; instance?: InstanceRec } {
  if (id.startsWith('i-')) {
    const inst = s.instance(id);
    return { tags: inst.tags, instance: inst };
  }
  if (id.startsWith('eni-')) return { tags: s.eni(id).tags };
  if (id.startsWith('eipalloc-')) return { tags: s.address(id).tags };
  throw regionError('InvalidID', `The ID '${id}' is not valid`);
}

function tagChanged(s: Ec2State, inst: InstanceRec, keys: string[]): void {
  inst.tagVersion += 1;
  s.ctx.emit('Tag Change on Resource', 'aws.tag', [s.instanceArn(inst.id)], {
    'changed-tag-keys': keys,
    service: 'ec2',
    'resource-type': 'instance',
    version: inst.tagVersion,
    tags: Object.fromEntries(inst.tags),
  });
}

export function CreateTags(s: Ec2State, input: CreateTagsRequest): Record<string, never> {
  const resources = input.Resources ?? [];
  if (resources.length === 0)
    throw regionError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const tags = validateTags(input.Tags ?? []);
  const targets = resources.map((id) => taggable(s, id));
  for (const t of targets) {
    const keys = new Set([...t.tags.keys(), ...tags.map(([k]) => k)]);
    if (keys.size > 50)
      throw regionError('TagLimitExceeded', 'The maximum number of tags per resource (50) has been exceeded');
  }
  for (const t of targets) {
    const changed = tags.filter(([k, v]) => t.tags.get(k) !== v).map(([k]) => k);
    for (const [k, v] of tags) t.tags.set(k, v);
    if (t.instance && changed.length > 0) tagChanged(s, t.instance, changed);
  }
  return {};
}

export function DeleteTags(s: Ec2State, input: DeleteTagsRequest): Record<string, never> {
  const resources = input.Resources ?? [];
  if (resources.length === 0)
    throw regionError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const targets = resources.map((id) => taggable(s, id));
  for (const t of targets) {
    const deleted: string[] = [];
    // No Tags at all deletes every tag; a tag with a Value deletes only when the value matches (an empty string
    // matches only an empty value); a tag without Value deletes the key whatever its value.
    const wanted = input.Tags ?? [...t.tags.keys()].map((Key) => ({ Key, Value: undefined }));
    for (const tag of wanted) {
      if (!tag.Key) continue;
      const current = t.tags.get(tag.Key);
      if (current === undefined) continue;
      if (tag.Value !== undefined && tag.Value !== current) continue;
      t.tags.delete(tag.Key);
      deleted.push(tag.Key);
    }
    if (t.instance && deleted.length > 0) tagChanged(s, t.instance, deleted);
  }
  return {};
}
