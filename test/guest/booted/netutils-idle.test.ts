import { matrixSuite } from '../../helpers/booted-matrix';

matrixSuite('netutils-idle');
