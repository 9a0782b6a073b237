import { matrixSuite } from '../../helpers/booted-matrix';

matrixSuite('ifupdown');
