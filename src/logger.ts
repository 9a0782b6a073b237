import { Logger } from '@aws-lambda-powertools/logger';

/** The one Logger of the process (service name and level from POWERTOOLS_* env vars). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'eip-autopilot' });
