// Progressive enhancement of the contribute form: a drop zone for files, and the commune list
// turned into province -> district -> commune choices. Without JavaScript the form still works.
(function () {
  "use strict";

  function enhanceDropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = document.querySelector("[data-file-list]");
    function showFiles() {
      if (!list) return;
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
        list.appendChild(item);
      });
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showFiles();
      }
    });
    input.addEventListener("change", showFiles);
  }

  function enhancePlacePicker(box) {
    var communeSelect = box.querySelector("select[name=commune_code]");
    var labels = document.getElementById("place-picker-labels").dataset;
    var groups = Array.prototype.slice.call(communeSelect.querySelectorAll("optgroup"));
    var chosen = communeSelect.value;

    function makeSelect(id, label) {
      var wrapper = document.createElement("div");
      var lab = document.createElement("label");
      lab.htmlFor = id;
      lab.textContent = label;
      var select = document.createElement("select");
      select.id = id;
      wrapper.appendChild(lab);
      wrapper.appendChild(select);
      return {wrapper: wrapper, select: select};
    }
    function fill(select, items, selected) {
      select.textContent = "";
      var blank = document.createElement("option");
      blank.value = "";
      blank.textContent = labels.any;
      select.appendChild(blank);
      items.forEach(function (item) {
        var option = document.createElement("option");
        option.value = item.value;
        option.textContent = item.label;
        option.selected = item.value === selected;
        select.appendChild(option);
      });
    }
    var province = makeSelect("place-province", labels.province);
    var district = makeSelect("place-district", labels.district);
    var commune = makeSelect("place-commune", labels.commune);
    var oldLabel = box.querySelector("label[for=commune_code]");
    oldLabel.hidden = true;
    communeSelect.hidden = true;
    [province, district, commune].forEach(function (part) {
      box.insertBefore(part.wrapper, communeSelect);
    });

    var provinces = [], seen = {};
    groups.forEach(function (group) {
      if (!seen[group.dataset.province]) {
        seen[group.dataset.province] = true;
        provinces.push({value: group.dataset.province, label: group.dataset.provinceName});
      }
    });
    function groupOf(code) {
      var option = communeSelect.querySelector("option[value='" + code + "']");
      return option ? option.parentNode : null;
    }
    function showDistricts(selected) {
      fill(district.select, groups.filter(function (g) {
        return g.dataset.province === province.select.value;
      }).map(function (g) {
        return {value: g.dataset.district, label: g.dataset.districtName};
      }), selected);
    }
    function showCommunes(selected) {
      var group = groups.filter(function (g) { return g.dataset.district === district.select.value; })[0];
      fill(commune.select, group ? Array.prototype.map.call(group.children, function (o) {
        return {value: o.value, label: o.textContent};
      }) : [], selected);
      communeSelect.value = selected || "";
    }
    var start = chosen ? groupOf(chosen) : null;
    fill(province.select, provinces, start ? start.dataset.province : "");
    showDistricts(start ? start.dataset.district : "");
    showCommunes(chosen);
    province.select.addEventListener("change", function () { showDistricts(""); showCommunes(""); });
    district.select.addEventListener("change", function () { showCommunes(""); });
    commune.select.addEventListener("change", function () { communeSelect.value = commune.select.value; });
  }

  document.querySelectorAll("[data-dropzone]").forEach(enhanceDropzone);
  document.querySelectorAll("[data-place-picker]").forEach(enhancePlacePicker);
})();
