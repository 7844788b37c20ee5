import "@picocss/pico/css/pico.min.css";
import "./style.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

const saved = localStorage.getItem("tradecraft.theme");
if (saved) document.documentElement.dataset.theme = saved;

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
