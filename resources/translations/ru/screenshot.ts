<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>BlackoutEditor</name>
    <message>
        <source>Black out private parts</source>
        <translation>Закрасьте личное</translation>
    </message>
    <message>
        <source>Drag over anything the helpdesk should not see, such as passwords, names or messages (or use the arrow keys and Space). Those parts become black in the picture that is attached.</source>
        <translation>Выделите мышью всё, что не должна видеть служба поддержки: пароли, имена, сообщения (или используйте стрелки и пробел). В прикладываемом снимке эти места станут чёрными.</translation>
    </message>
    <message>
        <source>Screenshot</source>
        <translation>Снимок экрана</translation>
    </message>
    <message>
        <source>Drag with the mouse to black out a part of the picture. With the keyboard: move with the arrow keys, press Space at one corner and again at the opposite corner.</source>
        <translation>Выделите мышью область, чтобы закрасить её. С клавиатуры: двигайтесь стрелками, нажмите пробел в одном углу и ещё раз в противоположном.</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Отменить</translation>
    </message>
    <message>
        <source>Undo the last black box</source>
        <translation>Отменить последнее закрашивание</translation>
    </message>
    <message>
        <source>C&amp;lear all</source>
        <translation>Убрать &amp;всё</translation>
    </message>
    <message>
        <source>Remove all black boxes</source>
        <translation>Убрать все закрашенные области</translation>
    </message>
    <message>
        <source>&amp;Attach</source>
        <translation>&amp;Приложить</translation>
    </message>
    <message>
        <source>Attach the screenshot</source>
        <translation>Приложить снимок экрана</translation>
    </message>
    <message>
        <source>Nothing blacked out yet</source>
        <translation>Пока ничего не закрашено</translation>
    </message>
    <message>
        <source>1 part blacked out</source>
        <translation>Закрашена 1 область</translation>
    </message>
    <message numerus="yes">
        <source>%n parts blacked out</source>
        <translation>
            <numerusform>Закрашено областей: %n</numerusform>
            <numerusform>Закрашено областей: %n</numerusform>
            <numerusform>Закрашено областей: %n</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ScreenCapture</name>
    <message>
        <source>Deskline could not take a screenshot on this desktop. Take one with your system&apos;s screenshot tool (the Print Screen key) and add the picture with Add files.</source>
        <translation>Deskline не может сделать снимок экрана на этом рабочем столе. Сделайте его системным средством (клавиша Print Screen) и добавьте картинку кнопкой «Добавить файлы».</translation>
    </message>
</context>
</TS>
