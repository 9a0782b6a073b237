/**
 * Matrix cells that fail today: stack id → event → the defect. A plain entry makes the test `it.fails` (it must fail;
 * when a fix makes the cell pass, the test fails and the entry must go, in the same commit as the fix). An entry with
 * `tolerate: 'removals'` is for a failure that does not happen on every run: the test then asserts the repair only
 * (every EIP egresses again), and the matrix still shows the cell FAIL whenever the failure happened.
 */
export interface KnownDefect {
  defect: string;
  tolerate?: 'removals';
}

/** A netutils refresh reloads networkd, which drops and renews DHCP leases; whether guest-sync holds its lock then
 * (waiting for the refresh it started, or running while netutils' own timer refreshes) varies from run to run. */
const netutilsRefresh: KnownDefect = {
  defect: 'primaries dropped by the amazon-ec2-net-utils refresh while guest-sync runs',
  tolerate: 'removals',
};

export const KNOWN_DEFECTS: Record<string, Record<string, KnownDefect>> = {
  netutils: {
    'imds-add': netutilsRefresh,
    'imds-remove': netutilsRefresh,
    'all-secondaries-removed-then-one-added': netutilsRefresh,
    // Also seen: the run right after the attach exits 8 (netutils not settled within 20 s); repair 8–28 s.
    'eni-detach-attach': netutilsRefresh,
    reboot: netutilsRefresh,
    timer: netutilsRefresh,
  },
};
