import { LabIcon } from '@jupyterlab/ui-components';

import containersSvg from '../style/containers.svg';

/** The Containers sidebar's tab icon (themed through the `jp-icon3` class). */
export const containersIcon = new LabIcon({
  name: 'jupyter-ctr:containers',
  svgstr: containersSvg
});
