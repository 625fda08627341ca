import './base.css';
import '@xterm/xterm/css/xterm.css';
import './terminal.css';
import './widgets.css';
import './timeline.css';
