/**
 * The Timeline widget's model and view (Python: jupyter_ctr/widgets/timeline.py). The kernel
 * owns the steps and runs Snapshot, Rewind and Remove (sent as `{event: 'action', action,
 * step}`); Export is a browser download of the REST route, fetched by the page (it works in
 * remote mode: the lab server relays it), its failure shown in the widget.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';

import { CtrApiError } from '../api';
import { IStep } from '../timeline/model';
import { ITimelineState, saveBlob, TimelineDom } from '../timeline/view';
import { widgetContext } from './context';
import { MODULE_NAME, MODULE_VERSION } from './version';

export class TimelineModel extends DOMWidgetModel {
  defaults(): Record<string, unknown> {
    return {
      ...super.defaults(),
      _model_name: 'TimelineModel',
      _view_name: 'TimelineView',
      _model_module: MODULE_NAME,
      _view_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_module_version: MODULE_VERSION,
      container: '',
      container_id: '',
      state: 'unknown',
      steps: [],
      current: '',
      suggested: 'step-1',
      busy: '',
      note: '',
      removed: false,
      error: ''
    };
  }
}

export class TimelineView extends DOMWidgetView {
  private dom: TimelineDom | null = null;
  /** The page's own export status (the kernel does not see the download). */
  private exportBusy = '';
  private exportError = '';
  private exportNote = '';

  render(): void {
    this.el.classList.add('jp-ctr-widget', 'jp-ctr-timeline-widget');
    this.dom = new TimelineDom({
      snapshot: step => this.send({ event: 'action', action: 'snapshot', step }),
      rewind: step => this.send({ event: 'action', action: 'rewind', step }),
      remove: step => this.send({ event: 'action', action: 'remove', step }),
      exportStep: step => void this.download(step)
    });
    this.el.append(this.dom.node);
    // a new action of the kernel's: the page's export outcome is old news
    this.listenTo(this.model, 'change:busy', () => {
      this.exportError = this.exportNote = '';
    });
    this.update();
  }

  update(): void {
    const m = this.model;
    const state: ITimelineState = {
      container: String(m.get('container') ?? ''),
      state: String(m.get('state') ?? 'unknown'),
      steps: (m.get('steps') as IStep[]) ?? [],
      current: String(m.get('current') ?? ''),
      suggested: String(m.get('suggested') ?? ''),
      busy: String(m.get('busy') ?? '') || this.exportBusy,
      error: String(m.get('error') ?? '') || this.exportError,
      note: this.exportNote || String(m.get('note') ?? ''),
      removed: m.get('removed') === true
    };
    this.dom?.update(state);
  }

  private async download(step: string): Promise<void> {
    const container = String(this.model.get('container_id') || this.model.get('container'));
    const name = String(this.model.get('container') ?? container);
    this.exportBusy = `export ${step}`;
    this.exportError = this.exportNote = '';
    this.update();
    try {
      const blob = await widgetContext().client.exportSnapshot(container, step);
      saveBlob(blob, `${name}-${step}.tar.gz`);
      this.exportNote = `${step} downloaded as ${name}-${step}.tar.gz`;
    } catch (err) {
      this.exportError = `export ${step}: ${err instanceof CtrApiError ? err.message : String(err)}`;
    } finally {
      this.exportBusy = '';
      this.update();
    }
  }
}
