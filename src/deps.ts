import { type Clients, makeClients } from './aws/clients';
import { type Ec2Port, ec2Adapter } from './aws/ec2-port';
import { type SqsPort, sqsAdapter } from './aws/sqs-port';
import { type SsmPort, ssmAdapter } from './aws/ssm-port';
import type { Config } from './config';

/** Everything the handlers and the CLI pass to the core. */
export interface Deps {
  config: Config;
  ec2: Ec2Port;
  ssm: SsmPort;
  sqs: SqsPort;
}

/** Wires the SDK adapters behind the ports (clients built once). */
export function makeDeps(config: Config, clients: Clients = makeClients()): Deps {
  return { config, ec2: ec2Adapter(clients.ec2), ssm: ssmAdapter(clients.ssm), sqs: sqsAdapter(clients.sqs) };
}
