/**
 * The graph: one SVG group per task (its box coloured by state through a data attribute), and
 * every need drawn in one path, so a 1,000-task graph is a few thousand elements and a state
 * change touches one attribute.
 */
import type { GraphLayout } from '../../src/core/dashboard/graph-layout.js';
import type { TaskView } from '../../src/core/dashboard/dashboard-view.js';
import { svg } from './dom.js';

export class GraphView {
  private readonly nodes = new Map<string, SVGElement>();
  private selected?: string;

  constructor(
    private readonly canvas: SVGSVGElement,
    private readonly onSelect: (task: string) => void,
  ) {
    // One listener for every node: a thousand listeners cost more to attach than the boxes to draw.
    canvas.addEventListener('click', (event) => {
      const task = (event.target as Element).closest('[data-task]')?.getAttribute('data-task');
      if (task) this.onSelect(task);
    });
  }

  draw(layout: GraphLayout, tasks: TaskView[]): void {
    const margin = 12;
    this.canvas.replaceChildren();
    this.canvas.setAttribute('width', String(layout.width + 2 * margin));
    this.canvas.setAttribute('height', String(layout.height + 2 * margin));
    const root = svg('g', { transform: `translate(${margin},${margin})` });
    const at = new Map(layout.nodes.map((n) => [n.name, n]));
    const w = layout.nodeWidth;
    const h = layout.nodeHeight;
    let d = '';
    for (const [from, to] of layout.edges) {
      const a = at.get(from)!;
      const b = at.get(to)!;
      const x1 = a.x + w;
      const y1 = a.y + h / 2;
      const x2 = b.x;
      const y2 = b.y + h / 2;
      const mid = (x1 + x2) / 2;
      d += `M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
    }
    root.append(svg('path', { class: 'edges', d }));
    const states = new Map(tasks.map((t) => [t.name, t.state]));
    const fragment = document.createDocumentFragment();
    for (const n of layout.nodes) {
      const g = svg('g', { class: 'node', 'data-task': n.name, 'data-state': states.get(n.name) ?? 'pending', transform: `translate(${n.x},${n.y})` });
      const label = svg('text', { x: 8, y: h / 2 });
      label.textContent = n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name;
      g.append(svg('rect', { width: w, height: h }), label);
      this.nodes.set(n.name, g);
      fragment.append(g);
    }
    root.append(fragment);
    this.canvas.append(root);
  }

  update(task: TaskView): void {
    this.nodes.get(task.name)?.setAttribute('data-state', task.state);
  }

  select(task: string): void {
    if (this.selected) this.nodes.get(this.selected)?.classList.remove('selected');
    this.selected = task;
    this.nodes.get(task)?.classList.add('selected');
  }
}
