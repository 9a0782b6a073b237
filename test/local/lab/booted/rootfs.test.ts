import { describe, expect, it } from 'vitest';
import { guestSources, parseSources, rootfsKey } from '#local/lab/booted/rootfs';

const bookworm822 = `Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://vendor.invalid/apt
Suites: nodistro
Components: main
`;

describe('Booted guests: the rootfs apt sources come from the host', () => {
  it.each([
    [
      'deb822 for bookworm: the bookworm entries, the vendor repository dropped',
      parseSources(bookworm822, true),
      [
        'URIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates',
        'URIs: http://mirror.invalid/debian-security\nSuites: bookworm-security',
      ],
    ],
    [
      'one-line sources.list',
      parseSources('# comment\ndeb [arch=amd64] http://m.invalid/debian bookworm main contrib\n', false),
      ['URIs: http://m.invalid/debian\nSuites: bookworm\nComponents: main contrib'],
    ],
    [
      'a Debian 13 host: its mirrors, with the codename replaced',
      parseSources(
        'Types: deb\nURIs: http://m.invalid/debian\nSuites: trixie trixie-updates\nComponents: main\n',
        true,
      ),
      ['URIs: http://m.invalid/debian\nSuites: bookworm bookworm-updates'],
    ],
  ])('%s', (_name, entries, expected) => {
    const text = guestSources(entries);
    for (const e of expected) expect(text).toContain(e);
    expect(text).not.toContain('vendor.invalid');
    expect(text.split('Types: deb').length - 1).toBe(expected.length);
  });

  it('refuses to guess a mirror when the host has no Debian entry', () => {
    expect(() =>
      guestSources(parseSources('Types: deb\nURIs: https://v.invalid/apt\nSuites: nodistro\n', true)),
    ).toThrow(/no Debian apt source/);
    expect(() =>
      guestSources(parseSources('Types: deb\nURIs: http://m.invalid/debian\nEnabled: no\nSuites: bookworm\n', true)),
    ).toThrow();
  });

  it('the cache key is stable and names the recipe', () => {
    expect(rootfsKey()).toMatch(/^[0-9a-f]{16}$/);
    expect(rootfsKey()).toBe(rootfsKey());
  });
});
