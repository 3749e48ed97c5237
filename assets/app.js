// Copy buttons: <button data-copy="element-id">. Loaded as a file so the
// Content-Security-Policy can forbid inline script.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch {
    document.execCommand("copy");
    button.textContent = "Copied";
  }
});
