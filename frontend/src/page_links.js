// The dashboard's links to the other pages (elements with data-carry-run) carry the run and the language
// in the address bar at the moment they are followed: the dashboard rewrites its URL as runs change, so
// each href is set on use.
function carryRun(link) {
  const here = new URLSearchParams(location.search);
  const target = new URLSearchParams();
  for (const name of ["run", "lang"]) if (here.get(name)) target.set(name, here.get(name));
  const page = link.getAttribute("href").split("?")[0];
  link.href = `${page}${target.size ? `?${target}` : ""}`;
}

for (const link of document.querySelectorAll("a[data-carry-run]")) {
  for (const event of ["pointerdown", "focus", "click"]) link.addEventListener(event, () => carryRun(link));
}
