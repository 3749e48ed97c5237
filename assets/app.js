// Copy buttons: <button data-copy="element-id"> copies an input's value, or
// another element's text (a client ID in a table, a command). Loaded as a file
// so the Content-Security-Policy can forbid inline script.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const isInput = field instanceof HTMLInputElement;
  // Selected too, so the fallback below (and the person) can see what was copied.
  if (isInput) field.select();
  else getSelection()?.selectAllChildren(field);
  try {
    await navigator.clipboard.writeText(isInput ? field.value : field.textContent.trim());
  } catch {
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  // A button named for screen readers ("Copy client ID") says so to them too.
  if (button.hasAttribute("aria-label")) button.setAttribute("aria-label", "Copied");
});

// Access forms (views/access.tsx): a group's tick-all ticks its tools, a
// tool keeps its group's box in step, and ticking anything chooses "Full,
// only the write tools I tick". Without script the server adds a ticked
// group's tools itself.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || (box.name !== "tool" && box.name !== "tool_group")) return;
  const group = box.closest("fieldset.tool-group");
  const all = group?.querySelector('input[name="tool_group"]');
  const tools = group ? [...group.querySelectorAll('input[name="tool"]')] : [];
  if (box === all) for (const tool of tools) tool.checked = box.checked;
  else if (all) {
    const ticked = tools.filter((tool) => tool.checked).length;
    all.checked = ticked === tools.length;
    all.indeterminate = ticked > 0 && ticked < tools.length;
  }
  const chosen = box.form?.querySelector('input[name="access"][value="chosen"]');
  if (box.checked && chosen) chosen.checked = true;
});
