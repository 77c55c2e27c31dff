// The live 2D map: an OccupancyGrid image with the laser scan's hits, the planned path, its goal and the robot's
// pose on top. The server sends compact JSON (GET /live/map): `map` {width, height, resolution, origin, cells:
// base64 int8}, `pose` {x, y, yaw, linear, angular}, `plan` {points: [[x, y], ...]} (empty when no goal is active:
// the navigator plans to its goal, so the last point is the goal) and `scan` {points: [[x, y], ...]}, all in the map
// frame.

export class MapView {
  #canvas;
  #ctx;
  #grid;
  #image;
  #pose;
  #plan = [];
  #scan = [];
  #queued = false;

  constructor(canvas) {
    this.#canvas = canvas;
    this.#ctx = canvas.getContext('2d');
  }

  setMap(map) {
    const cells = Uint8Array.from(atob(map.cells), (c) => c.charCodeAt(0));
    const image = new ImageData(map.width, map.height);
    for (let row = 0; row < map.height; row++) {
      // Row 0 of the grid is at the origin (the bottom): the image is drawn top down.
      const target = map.height - 1 - row;
      for (let col = 0; col < map.width; col++) {
        const v = (cells[row * map.width + col] << 24) >> 24; // int8
        const shade = v < 0 ? 205 : 255 - Math.round((Math.min(v, 100) / 100) * 255);
        const i = (target * map.width + col) * 4;
        image.data[i] = image.data[i + 1] = image.data[i + 2] = shade;
        image.data[i + 3] = 255;
      }
    }
    const offscreen = document.createElement('canvas');
    offscreen.width = map.width;
    offscreen.height = map.height;
    offscreen.getContext('2d').putImageData(image, 0, 0);
    this.#grid = map;
    this.#image = offscreen;
    this.#draw();
  }

  setPose(pose) {
    this.#pose = pose;
    this.#draw();
  }

  setPlan(plan) {
    this.#plan = plan.points ?? [];
    this.#draw();
  }

  setScan(scan) {
    this.#scan = scan.points ?? [];
    this.#draw();
  }

  /** Where the active goal's plan ends, or undefined when no goal is active. */
  get goal() {
    const last = this.#plan.at(-1);
    return last ? { x: last[0], y: last[1] } : undefined;
  }

  /** Metres in the map frame to canvas pixels. */
  #toCanvas(x, y) {
    const g = this.#grid;
    const scale = this.#canvas.width / Math.max(g.width, g.height);
    const col = (x - g.origin.x) / g.resolution;
    const row = (y - g.origin.y) / g.resolution;
    return [col * scale, (g.height - row) * scale];
  }

  #draw() {
    if (this.#queued) return;
    this.#queued = true;
    requestAnimationFrame(() => {
      this.#queued = false;
      const ctx = this.#ctx;
      ctx.clearRect(0, 0, this.#canvas.width, this.#canvas.height);
      if (!this.#grid) return;
      const g = this.#grid;
      const scale = this.#canvas.width / Math.max(g.width, g.height);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.#image, 0, 0, g.width * scale, g.height * scale);
      // The scan's hits: small orange squares, at least 3 px so a sparse scan still shows.
      ctx.fillStyle = '#fb8f44';
      const dot = Math.max(3, Math.round((0.04 / g.resolution) * scale));
      for (const [x, y] of this.#scan) {
        const [px, py] = this.#toCanvas(x, y);
        ctx.fillRect(px - dot / 2, py - dot / 2, dot, dot);
      }
      if (this.#plan.length > 1) {
        ctx.strokeStyle = '#0969da';
        ctx.lineWidth = 2;
        ctx.beginPath();
        this.#plan.forEach(([x, y], i) => {
          const [px, py] = this.#toCanvas(x, y);
          if (i === 0) ctx.moveTo(px, py);
          else ctx.lineTo(px, py);
        });
        ctx.stroke();
      }
      const goal = this.goal;
      if (goal) {
        // The goal: a green ring with a dot, the size of the robot's marker.
        const [px, py] = this.#toCanvas(goal.x, goal.y);
        const r = Math.max(7, (0.15 / g.resolution) * scale);
        ctx.strokeStyle = '#1a7f37';
        ctx.fillStyle = '#1a7f37';
        ctx.lineWidth = 3;
        ctx.beginPath();
        ctx.arc(px, py, r, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.beginPath();
        ctx.arc(px, py, r / 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      if (this.#pose) {
        const [px, py] = this.#toCanvas(this.#pose.x, this.#pose.y);
        const r = Math.max(6, (0.12 / g.resolution) * scale);
        ctx.save();
        ctx.translate(px, py);
        ctx.rotate(-this.#pose.yaw);
        ctx.fillStyle = '#cf222e';
        ctx.beginPath();
        ctx.moveTo(r * 1.4, 0);
        ctx.lineTo(-r, r * 0.8);
        ctx.lineTo(-r, -r * 0.8);
        ctx.closePath();
        ctx.fill();
        ctx.restore();
      }
    });
  }
}
